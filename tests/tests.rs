//! Integration tests: one binary so GDAL and PROJ link once.

mod support;

// Import of every office format, with known counts, areas and Chinese text.
mod import_formats;
// Bad input: a named error, and the store unchanged.
mod import_errors;
// SIGKILL during an import leaves the previous blueprint intact.
mod store_atomic;
// Reconciliation on plans with known answers; outputs and the ledger across re-runs.
mod reconcile;
// Checklist renderers: PDF (read back with pdftotext), HTML and XLSX (read back with calamine).
mod report;
