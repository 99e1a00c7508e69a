//! Deterministic simulated CloudTrail with planted attack scenarios and ground truth.
