/** A subcommand: receives the arguments after its name, resolves to the process exit status. */
export type Command = (args: string[]) => Promise<number>;
