// Moved to table-formats.ts (the tables' one definition each). Kept only while analyzer.ts still imports
// this path; delete once that import reads './core/table-formats.ts'.
export * from './table-formats.ts';
