//! Integration tests: one binary so GDAL and PROJ link once.

// A failing test panics with its finding; fixtures are literal nested coordinate lists.
#![allow(clippy::panic, clippy::type_complexity)]

mod support;

// Import of every office format, with known counts, areas and Chinese text.
mod import_formats;
// Bad input: a named error, and the store unchanged.
mod import_errors;
// SIGKILL during an import leaves the previous blueprint intact.
mod store_atomic;
// DXF import of real CAD drawings: hatches, closed polylines, polygonised line work, labels.
mod dxf;
// Reconciliation on plans with known answers; outputs and the ledger across re-runs.
mod reconcile;
// The HTTP API through tower oneshot: answers, problems, roles, audit, tiles, OGC API.
mod api;
// The JTS/GEOS XML overlay suite through the exact kernel.
mod geos_xml;
// The sample-district generator: determinism, coverages, offsets, seeded answers, data/sample.
mod sample;
// Checklist renderers: PDF (read back with pdftotext), HTML and XLSX (read back with calamine).
mod report;
// `lantu check` / `lantu verify` through the binary on the committed sample district.
mod check_cli;
// The exact kernel against GEOS pair by pair on the sample district, with A∩B / A−B invariants.
mod geos_diff;
// A real `lantu serve` on a loopback port: the whole trail over HTTP, roles, bad input, OAPIF.
mod serve_e2e;
