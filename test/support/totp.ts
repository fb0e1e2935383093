/** TOTP codes as an authenticator app makes them (otplib), for signing in to a console with MFA on. */
import { generate } from 'otplib';

const PERIOD_SECONDS = 30;

/**
 * The code for the current 30-second step, or `stepsAhead` steps later: the console refuses a code
 * of a step that was used already, and accepts one step ahead (a phone clock a little fast), so a
 * second sign-in within the same step uses the next step's code.
 */
export function totpCode(secret: string, stepsAhead = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + stepsAhead * PERIOD_SECONDS });
}
