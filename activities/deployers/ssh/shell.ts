/** Shell quoting and output trimming for commands run over SSH. */

/** POSIX single-quoting: safe for any argument. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9._/+@=,:-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `sudo -n ` + command with useSudo: never prompts (fails at once when a password would be needed). */
export const withSudo = (command: string, sudo: boolean): string => (sudo ? `sudo -n ${command}` : command);

const PEM_BLOCK = /-----BEGIN [^-]*-----[\s\S]*?(-----END [^-]*-----|$)/g;
const LONG_BASE64 = /[A-Za-z0-9+/=]{64,}/g;

/**
 * Command output made fit for an error message: no PEM blocks or long base64 runs (never key
 * material), the last `maxLines` non-empty lines, at most `maxChars` characters.
 */
export function trimOutput(output: string, maxLines = 15, maxChars = 1500): string {
  const lines = output
    .replace(PEM_BLOCK, '[PEM block removed]')
    .replace(LONG_BASE64, '[…]')
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '');
  let kept = lines.slice(-maxLines).join('\n');
  if (lines.length > maxLines) kept = `…\n${kept}`;
  return kept.length > maxChars ? `…${kept.slice(kept.length - maxChars)}` : kept;
}
