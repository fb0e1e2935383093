import type { ClassifiedError } from '../errors';

/** A provider's wrapper for its API calls: any failure leaves as the provider's classified error for that action. */
export const classifiedCalls =
  (classify: (error: unknown, action: string) => ClassifiedError) =>
  async <T>(action: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw classify(error, action);
    }
  };
