// Configuration errors: each names its variable, what was expected and what
// was found, so a bad deploy stops at start with one readable line.

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    got: string | undefined,
  ) {
    super(`${variable}: expected ${expected}, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`);
  }
}

/** Two names for one setting (ours and the successor proxy's) set to different values. */
export class ConfigConflictError extends ConfigError {
  constructor(variable: string, alias: string) {
    super(variable, '', undefined);
    // Values are not printed: one of the pairs is an API key.
    this.message = `${variable} and ${alias} are both set, to different values: set only one`;
  }
}

/** What an error shows in place of a secret's value. */
export const NOT_SHOWN = '(value not shown)';
