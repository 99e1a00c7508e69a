//! Containment, eradication and recovery actions through the AWS APIs.
