//! Integration tests: one binary so GDAL and PROJ link once.
