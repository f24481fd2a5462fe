import { NotifyError } from './notify-error.js';

/** The `NotifyError` that `promise` rejects with (anything else fails the test). */
export async function failure(promise: Promise<unknown>): Promise<NotifyError> {
  try {
    await promise;
  } catch (error) {
    if (NotifyError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a NotifyError');
}
