import { errorMessage } from '../errors';
import { nextTurn } from '../turns';

/** How a node says it refused the credentials sent (AUTH, HELLO AUTH; Redis 6 and 7 wordings). */
export const PASSWORD_REFUSED = /WRONGPASS|invalid password|invalid username/i;

/**
 * Why a command said NOAUTH on a connection that sent a password: the node refused the password.
 * ioredis sends AUTH and the first commands back to back, and reports a refused AUTH (WRONGPASS,
 * as the connection's error) a turn after the reply was read, so the next command's NOAUTH can
 * come back first: one turn is waited for, and the connection's own error returned when it came.
 * Undefined when that is not the case (then the command's error says what happened).
 */
export async function refusedAuth(err: unknown, passwordSent: boolean, connectionError: () => unknown): Promise<unknown> {
  if (!passwordSent || !/NOAUTH/.test(errorMessage(err))) return undefined;
  if (connectionError() === undefined) await nextTurn();
  const cause = connectionError();
  return cause !== undefined && PASSWORD_REFUSED.test(errorMessage(cause)) ? cause : undefined;
}
