//! Integration tests: one binary so GDAL and PROJ link once.

// DXF import of real CAD drawings: hatches, closed polylines, polygonised line work, labels.
mod dxf;
