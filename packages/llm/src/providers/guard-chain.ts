/**
 * Something that sends a request through `create`, and may send it again changed after a refusal:
 * a refusal guard, the output limit guard, the effort value guard.
 */
export interface RequestGuard<Base> {
  send<Input extends Base, Result>(input: Input, create: (input: Input) => Promise<Result>): Promise<Result>;
}

/**
 * One {@link RequestGuard} made of `guards`, the first outermost: each sends through the next, the
 * last through `create`. Each guard handles its own refusal and passes any other error out, so
 * the order matters only where one guard's change sets up another's (a token limit moved to
 * another field, then lowered).
 */
export function chainGuards<Base>(guards: ReadonlyArray<RequestGuard<Base>>): RequestGuard<Base> {
  return {
    send(input, create) {
      const through =
        (index: number) =>
        (body: typeof input): ReturnType<typeof create> => {
          const guard = guards[index];
          return guard === undefined ? create(body) : guard.send(body, through(index + 1));
        };
      return through(0)(input);
    },
  };
}
