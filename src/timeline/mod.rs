//! See src/lib.rs for this module's role.
