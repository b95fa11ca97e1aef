// The git config of a person who signs commits with SSH through `program` (the shim, or a
// form of it): who they are, the format, the program, and the key to sign with; `more`
// settings after those.
export const sshSigningConfig = (
  program: string,
  signingKey: string,
  more: Record<string, string> = {},
): [string, string][] => [
  ['user.name', 'Ana Example'],
  ['user.email', 'ana@example.test'],
  ['gpg.format', 'ssh'],
  ['gpg.ssh.program', program],
  ['user.signingkey', signingKey],
  ...Object.entries(more),
];
