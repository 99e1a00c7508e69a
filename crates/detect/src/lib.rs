//! Sigma detection engine: rule parsing, compilation, event-name index, correlations.
