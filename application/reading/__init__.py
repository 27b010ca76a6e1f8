"""Reading the trail: a caller's filter and its tenant scope, pages and cursors, the viewer."""
