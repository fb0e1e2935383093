/**
 * How the IIS simulator reads what it is asked to run, and how it answers like Windows would.
 *
 * THIS IS A SIMULATOR. No Windows machine was available: PowerShell is not run. The simulator
 * checks that a command has the exact `powershell.exe -NoProfile -NonInteractive -EncodedCommand
 * <base64>` shape, decodes the UTF-16LE script, recognises CertFleet's scripts by their
 * `# certfleet:<operation>` marker line and their `$p=ConvertFrom-Json -InputObject '…'` parameter
 * line, checks that the script contains the calls the operation depends on (so a script that drops
 * MachineKeySet or the `finally` that deletes the PFX fails here), and then does in TypeScript what
 * the script would do on Windows. Replies are what the scripts print: one JSON line and exit 0; errors
 * go to stderr in PowerShell's error format (or CLIXML) with exit 1.
 */
import { SCRIPT_OPERATIONS, type ScriptOperation } from '../../../activities/deployers/iis/scripts';

// The only command form CertFleet sends (docs/vendors/iis.md: Win32-OpenSSH wiki "DefaultShell": cmd.exe is the
// default shell, -EncodedCommand avoids its quoting).
export const COMMAND = /^powershell\.exe -NoProfile -NonInteractive -EncodedCommand ([A-Za-z0-9+/]+={0,2})$/;
/** cmd.exe, the default shell of Windows OpenSSH, refuses longer command lines (Microsoft: "Command prompt (Cmd.exe) command-line string limitation", 8191 characters). */
export const CMD_MAX_LENGTH = 8191;

/**
 * The operations are CertFleet's own `# certfleet:<operation>` markers, not a Windows fact: the list is
 * the deployer's, so an operation added there fails to typecheck here until REQUIRED covers it.
 */
export const OPERATIONS = SCRIPT_OPERATIONS;
export type Operation = ScriptOperation;

export interface ParsedScript {
  operation: Operation;
  script: string;
  params: Record<string, unknown>;
  /** set-bindings only: the script edits CertificateHash in place (IN_PLACE_HASH_EDIT). */
  inPlace: boolean;
}

/**
 * Fragments every script of an operation must contain (checked on the compacted text): the calls
 * the field sources use for the operation (see the comments at each script in
 * activities/deployers/iis/scripts.ts). A script without them is refused with a "simulator:"
 * error, which no Windows would print: it marks a script the simulator cannot vouch for.
 */
const REQUIRED: Record<Operation, RegExp[]> = {
  probe: [
    /\$PSVersionTable\.PSVersion/,
    /HKLM:\\SOFTWARE\\Microsoft\\InetStp/,
    /IsInRole\(\[Security\.Principal\.WindowsBuiltInRole\]::Administrator\)/,
  ],
  'read-bindings': [
    /New-Object Microsoft\.Web\.Administration\.ServerManager/,
    /\$b\.CertificateHash/,
    /GetAttributeValue\('sslFlags'\)/,
    /\$sm\.Dispose\(\)/,
  ],
  'stage-check': [/Cert:\\LocalMachine\\/, /New-Item -ItemType Directory/, /SetAccessRuleProtection\(\$true,\$false\)/],
  import: [
    /X509Certificate2 -ArgumentList \$p\.path,\$p\.password,\(\[Security\.Cryptography\.X509Certificates\.X509KeyStorageFlags\]'MachineKeySet,PersistKeySet'\)/,
    /X509Store -ArgumentList \$p\.store,'LocalMachine'/,
    /\$s\.Add\(\$c\)/,
    /finally\{Remove-Item -LiteralPath \$p\.path -Force/,
  ],
  // Remove + add, never an in-place edit (see IN_PLACE_HASH_EDIT): win-acme IISClient.UpdateBinding
  // and Certify ServerProviderIIS.AddOrUpdateSiteBinding create a new element, copy the other
  // attributes, Remove the old one and Add the new one before CommitChanges().
  'set-bindings': [
    /\$s\.Bindings\.CreateElement\('binding'\)/,
    /foreach\(\$x in \$b\.Attributes\)/,
    /\$n\.CertificateHash=\[byte\[\]\]\(\$t\.hash -split '\(\.\.\)' -ne ''/,
    /\$n\.CertificateStoreName=\$t\.store/,
    /\$n\.SetAttributeValue\('sslFlags',\[int\]\$t\.sslFlags\)/,
    /if\(\$b\)\{\$s\.Bindings\.Remove\(\$b\)\}\n\[void\]\$s\.Bindings\.Add\(\$n\)\ntry\{\$sm\.CommitChanges\(\)\}/,
    // The same script puts the old binding back when the commit fails (Set-One on what it read).
    /catch\{\$e=\$_;if\(\$b -and !\$t\.attrs\)\{\$script:pb='ok';try\{\[void\]\(Set-One \$r\)\}/,
  ],
  'remove-certificates': [
    /Protocol -eq 'https'/,
    /Remove-Item -LiteralPath \$path -DeleteKey/,
    /StartsWith\('CertFleet '\)/,
  ],
};
const FORBIDDEN: RegExp[] = [/Import-PfxCertificate/i, /Invoke-Expression/i];

/**
 * A script that sets CertificateHash on a binding it read from the site ($b from Get-B), i.e. edits
 * the binding in place. The simulator runs such a script, and its CommitChanges() fails the way the
 * field reports describe (server.ts, IN_PLACE_EDIT_MESSAGE).
 */
export const IN_PLACE_HASH_EDIT = /\$b\.CertificateHash=/;

export type Recognised = { ok: true; parsed: ParsedScript } | { ok: false; code: number; stderr: string };

/** What cmd.exe prints for a command it cannot run (its usual "is not recognized" text; ASSUMPTION: exit code 1 as OpenSSH relays it). */
const notRecognised = (command: string): string =>
  `'${command.split(' ')[0] ?? command}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n`;

export function recognise(command: string): Recognised {
  if (command.length > CMD_MAX_LENGTH) return { ok: false, code: 1, stderr: 'The command line is too long.\r\n' };
  const match = COMMAND.exec(command);
  if (!match?.[1]) return { ok: false, code: 1, stderr: notRecognised(command) };
  const script = Buffer.from(match[1], 'base64').toString('utf16le');
  const marker = /^# certfleet:([a-z-]+)\n/.exec(script);
  const operation = OPERATIONS.find((op) => op === marker?.[1]);
  if (!operation)
    return {
      ok: false,
      code: 1,
      stderr: psError(
        'simulator: not a CertFleet script (no "# certfleet:<operation>" first line)',
        'FullyQualifiedErrorId : CertFleetSimulator',
      ),
    };
  const paramLine = script
    .split('\n')
    .find((line) => line.startsWith("$p=ConvertFrom-Json -InputObject '") && line.endsWith("'"));
  if (!paramLine)
    return {
      ok: false,
      code: 1,
      stderr: psError('simulator: no $p=ConvertFrom-Json parameter line', 'FullyQualifiedErrorId : CertFleetSimulator'),
    };
  const literal = paramLine.slice("$p=ConvertFrom-Json -InputObject '".length, -1);
  if (/(^|[^'])'([^']|$)/.test(literal))
    return {
      ok: false,
      code: 1,
      stderr: psError('simulator: an unescaped quote ends the parameter string early', 'ParserError'),
    };
  let params: unknown;
  try {
    params = JSON.parse(literal.replace(/''/g, "'"));
  } catch {
    return {
      ok: false,
      code: 1,
      stderr: psError(
        'ConvertFrom-Json : Invalid JSON primitive.',
        'FullyQualifiedErrorId : System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand',
      ),
    };
  }
  if (params === null || typeof params !== 'object' || Array.isArray(params))
    return { ok: false, code: 1, stderr: psError('simulator: parameters are not an object', 'CertFleetSimulator') };
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(literal))
    return {
      ok: false,
      code: 1,
      stderr: psError('simulator: non-ASCII in the parameter line (it must be \\u-escaped)', 'CertFleetSimulator'),
    };
  const inPlace = operation === 'set-bindings' && IN_PLACE_HASH_EDIT.test(script);
  for (const pattern of [
    /\$ErrorActionPreference='Stop'/,
    /ConvertTo-Json -InputObject \$o -Compress/,
    ...(inPlace ? [/\$sm\.CommitChanges\(\)/] : REQUIRED[operation]),
  ]) {
    if (!pattern.test(script))
      return {
        ok: false,
        code: 1,
        stderr: psError(`simulator: the ${operation} script lacks ${pattern.source}`, 'CertFleetSimulator'),
      };
  }
  for (const pattern of FORBIDDEN)
    if (pattern.test(script))
      return {
        ok: false,
        code: 1,
        stderr: psError(`simulator: the ${operation} script uses ${pattern.source}`, 'CertFleetSimulator'),
      };
  return { ok: true, parsed: { operation, script, params: params as Record<string, unknown>, inPlace } };
}

/** A terminating error as Windows PowerShell 5.1 prints it on stderr (ASSUMPTION: reproduced from memory, not from a recording). */
export function psError(message: string, category: string, line = 1): string {
  return [
    message,
    `At line:${line} char:1`,
    '+ …',
    '+ ~~~',
    `    + CategoryInfo          : NotSpecified: (:) [], ${category.includes('Exception') ? category : 'MethodInvocationException'}`,
    `    + FullyQualifiedErrorId : ${category}`,
    '',
  ].join('\r\n');
}

/** A .NET method exception surfaced by PowerShell: `Exception calling "<m>" with "<n>" argument(s): "<text>"`. */
export const methodException = (method: string, args: number, text: string): string =>
  `Exception calling "${method}" with "${args}" argument(s): "${text}"`;

/**
 * ERROR_NO_SUCH_LOGON_SESSION from HTTP.sys, as CommitChanges() surfaces it (docs/vendors/iis.md). The
 * text is the one in win-acme issues #58, #172, #260 and #371 (Win32Exception from
 * HttpApiWrapper.CreateSSLBinding under ServerManager.CommitChanges()); the `Exception calling`
 * wrapper is how PowerShell prints a .NET method exception.
 */
export const LOGON_SESSION_MESSAGE = methodException(
  'CommitChanges',
  0,
  'A specified logon session does not exist. It may already have been terminated. (Exception from HRESULT: 0x80070520)',
);

const xmlEscape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The same error text as CLIXML, what powershell.exe -EncodedCommand may write to a redirected stderr (Ansible's handling of `#< CLIXML` over SSH; ASSUMPTION: the exact element layout). */
export function toClixml(stderr: string): string {
  const lines = stderr.split(/\r\n/).filter((line, i, all) => line !== '' || i < all.length - 1);
  const body = lines
    .map((line) => `<S S="Error">${xmlEscape(line).replace(/_x/g, '_x005F_x')}_x000D__x000A_</S>`)
    .join('');
  return `#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">${body}</Objs>`;
}
