//! Red-team findings (access), each reproduced on a real server on loopback
//! (or the real CLI) and shown fixed.
#![allow(unused_imports)]

use super::*;
