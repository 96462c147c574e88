// node-diff3 ships its types for "moduleResolution": "node16"/"bundler" only (package
// "exports"); this project resolves as "node", so the one function used is declared here,
// copied from node-diff3/src/diff3.d.ts.
declare module 'node-diff3' {
  export interface MergeRegion<T> {
    ok?: T[];
    conflict?: { a: T[]; aIndex: number; b: T[]; bIndex: number; o: T[]; oIndex: number };
  }
  export function diff3Merge<T = string>(a: T[], o: T[], b: T[], options?: { excludeFalseConflicts?: boolean }): MergeRegion<T>[];
}
