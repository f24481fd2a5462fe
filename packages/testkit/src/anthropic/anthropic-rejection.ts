/** Why the fake rejects a request, in the real API's terms. */
export interface AnthropicRejection {
  status: number;
  type: string;
  message: string;
}

/** A 400 `invalid_request_error` with `message`, as the API answers a request it cannot take. */
export function invalid(message: string): AnthropicRejection {
  return { status: 400, type: 'invalid_request_error', message };
}

/** A parsed JSON object. */
export type Json = Record<string, unknown>;

/** Whether `value` is a JSON object (not an array, not null). */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
