import Ingestion
// Test-support product for other suites (issue 5).
