/** One problem with one variable: its name, its value (secrets masked) and what is expected. */
export interface ConfigProblem {
  variable: string;
  /** The offending value as given, with secrets masked; undefined when the variable is missing. */
  value: string | undefined;
  /** What the variable must be, or how to fix it. */
  expected: string;
}

const MARKER = Symbol.for('haia.config.error');

/**
 * Every configuration problem found at start, at once. The message lists each as
 * `VARIABLE="value": expected ...`, ready to print before exiting.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'config';
  readonly problems: readonly ConfigProblem[];
  readonly [MARKER] = true;

  constructor(problems: readonly ConfigProblem[]) {
    super(formatProblems(problems));
    this.problems = problems;
  }

  /** True for a `ConfigError`, also across copies of this package. */
  static isInstance(error: unknown): error is ConfigError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}

function formatProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems.map((problem) => {
    const given = problem.value === undefined ? 'is not set' : `=${JSON.stringify(problem.value)}`;
    return `  - ${problem.variable}${problem.value === undefined ? ' ' : ''}${given}: expected ${problem.expected}`;
  });
  const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
  return `HAIA's configuration has ${count}:\n${lines.join('\n')}\nSet these in the environment or in .env (see .env.example).`;
}
