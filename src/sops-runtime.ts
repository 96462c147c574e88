/**
 * The SOPS store and `import`, bundled on their own (dist/sops-runtime.js) and required when a SOPS
 * file is first met, by the CLI and the extension alike (src/sops-from-runtime.ts): their YAML,
 * JSON and dotenvx parsers are most of their size, and most users have no SOPS file.
 */
export * from './core/sops';
