/**
 * The FTP server a SonicWall imports certificates from (docs/vendors/sonicwall.md: the firewall pulls the
 * PKCS#12 from an ftp:// URL it is given). CertFleet uploads the file with basic-ftp, hands the
 * firewall the URL, and deletes the file again. Every operation uses its own short FTP connection.
 *
 * Failures are classified like device failures: a refused FTP login is TARGET_AUTH_FAILED, a refused
 * command (5xx) TARGET_REJECTED, a transient reply (4xx), a timeout or a connection failure
 * TARGET_UNREACHABLE. Messages never contain the FTP password.
 */
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import { recordNote } from '../wire-transcript';

export interface FtpDropSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Relative to the FTP account's home, without leading or trailing '/'; '' = the home. */
  directory: string;
  /** The FTP server's host as the firewall reaches it. */
  urlHost: string;
  /** Per FTP operation (connect, login, transfer). Default 30 s. */
  timeoutMs?: number;
}

export interface DroppedFile {
  /** Path on the FTP server, relative to the account's home. */
  remotePath: string;
  /** ftp://user:password@urlHost:port/dir/file: what the firewall downloads. Secret (holds the password). */
  url: string;
  /** The same URL without the password, for messages. */
  displayUrl: string;
}

const bracketed = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** Numeric FTP reply code of a basic-ftp FTPError. */
function ftpCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export class FtpDrop {
  private readonly dir: string;

  constructor(
    private readonly settings: FtpDropSettings,
    private readonly component: string,
  ) {
    this.dir = settings.directory.replace(/^\/+|\/+$/g, '');
  }

  /** ftp://user@host:port/dir/ (no password), for messages and preflight details. */
  describe(host = this.settings.host): string {
    return `ftp://${this.settings.user}@${bracketed(host)}:${this.settings.port}/${this.dir ? `${this.dir}/` : ''}`;
  }

  private remotePath(fileName: string): string {
    return this.dir ? `${this.dir}/${fileName}` : fileName;
  }

  /** Classifies an FTP failure; `doing` says what was attempted ("upload x.p12 to ftp://…"). */
  private failure(doing: string, error: unknown): ClassifiedError {
    if (error instanceof ClassifiedError) return error;
    const raw = error instanceof Error ? error.message : String(error);
    const secret = this.settings.password;
    const message = secret.length >= 4 ? raw.split(secret).join('***') : raw;
    const code = ftpCode(error);
    const prefix = `${this.component}: ${doing}`;
    if (code === 530) {
      return classified(
        FailureType.targetAuth,
        `${prefix}: the FTP server refused the login of "${this.settings.user}" (${message}). Check the FTP user and password.`,
      );
    }
    if (code !== undefined && code >= 500)
      return classified(
        FailureType.targetRejected,
        `${prefix}: the FTP server refused (${message}). Check that the directory exists and the FTP account may write and delete there.`,
      );
    if (code !== undefined && code >= 400)
      return classified(
        FailureType.targetUnreachable,
        `${prefix}: the FTP server answered a transient error (${message}); retrying may help`,
      );
    const errno = (error as { code?: unknown } | null)?.code;
    return classified(
      FailureType.targetUnreachable,
      `${prefix}: cannot reach the FTP server ${bracketed(this.settings.host)}:${this.settings.port} (${typeof errno === 'string' ? `${errno}: ` : ''}${message})`,
    );
  }

  private async withClient<T>(doing: string, work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client(this.settings.timeoutMs ?? 30_000);
    try {
      await client.access({
        host: this.settings.host,
        port: this.settings.port,
        user: this.settings.user,
        password: this.settings.password,
        secure: false,
      });
      return await work(client);
    } catch (error) {
      throw this.failure(doing, error);
    } finally {
      client.close();
    }
  }

  /** Uploads `bytes` as `fileName` into the directory. */
  async upload(fileName: string, bytes: Buffer): Promise<DroppedFile> {
    const remotePath = this.remotePath(fileName);
    await this.withClient(`upload ${fileName} to ${this.describe()}`, (client) =>
      client.uploadFrom(Readable.from(bytes), remotePath),
    );
    recordNote(`FTP upload of ${fileName} to ${this.describe()}: (PKCS#12 upload, ${bytes.length} bytes, removed)`);
    const { user, password, port, urlHost } = this.settings;
    const path = `/${remotePath}`;
    return {
      remotePath,
      url: `ftp://${user}:${password}@${bracketed(urlHost)}:${port}${path}`,
      displayUrl: `ftp://${user}@${bracketed(urlHost)}:${port}${path}`,
    };
  }

  /** Deletes a file uploaded before; a file that is gone already (550 on DELE) counts as deleted. */
  async remove(remotePath: string): Promise<void> {
    await this.withClient(`delete ${remotePath} from ${this.describe()}`, async (client) => {
      try {
        await client.remove(remotePath);
      } catch (error) {
        if (ftpCode(error) === 550 && !(await this.exists(client, remotePath))) return;
        throw error;
      }
    });
  }

  private async exists(client: Client, remotePath: string): Promise<boolean> {
    const name = remotePath.split('/').pop() ?? remotePath;
    try {
      return (await client.list(this.dir || undefined)).some((f) => f.name === name);
    } catch {
      return true; // cannot tell: report the failed deletion
    }
  }

  /** Deletes files in the directory whose names start with `prefix` (leftovers of failed attempts). Best effort. */
  async sweep(prefix: string): Promise<string[]> {
    try {
      return await this.withClient(`clean up ${this.describe()}`, async (client) => {
        const removed: string[] = [];
        for (const file of await client.list(this.dir || undefined)) {
          if (!file.isFile || !file.name.startsWith(prefix)) continue;
          await client.remove(this.remotePath(file.name));
          removed.push(file.name);
        }
        return removed;
      });
    } catch {
      return [];
    }
  }

  /** Uploads and deletes a small file: the server is reachable, the login works, the directory is writable. */
  async probe(fileName: string): Promise<void> {
    const remotePath = this.remotePath(fileName);
    await this.withClient(`write a test file to ${this.describe()}`, async (client) => {
      await client.uploadFrom(
        Readable.from(Buffer.from('CertFleet connection test: this file is deleted at once.\n')),
        remotePath,
      );
      await client.remove(remotePath);
    });
  }
}
