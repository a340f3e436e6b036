//! Official French reference data, generated into the repository (see `README.md` beside
//! this file for the source, its licence and the command that regenerates it).

pub mod postcodes;
