import { readFileSync } from 'node:fs';
import path from 'node:path';

export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 128;
const COMMON_LIST = path.join(__dirname, 'data', 'common-passwords.txt');

let common: Set<string> | undefined;

/** The shipped list of common passwords (web/data/common-passwords.txt, source in its header), read once on first use. */
function commonPasswords(): Set<string> {
  common ??= new Set(
    readFileSync(COMMON_LIST, 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#')),
  );
  return common;
}

/**
 * Why a new password is refused, or undefined: every place a password is set (first admin, new user,
 * admin reset, own change) goes through this.
 */
export function passwordProblem(password: string, username?: string): string | undefined {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD)
    return `Choose a password of ${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`;
  const lower = password.toLowerCase();
  if (username !== undefined && lower === username.toLowerCase()) return 'The password must not be the user name.';
  if (commonPasswords().has(lower))
    return 'This password is on a list of the most common passwords, which attackers try first. Choose another.';
  return undefined;
}
