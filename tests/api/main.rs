//! The one integration-test binary: the real app over real HTTP, each test on
//! its own database cloned from a migrated template (see `helpers`).

mod accounts;
mod auth;
mod catalog;
mod commands;
mod consultations;
mod contracts;
mod demo;
mod egalim;
mod errors;
mod faults;
mod geography;
mod helpers;
mod invoices;
mod lifecycle;
mod migrations;
mod openapi;
mod opendata;
mod operations;
mod orders;
mod standing;
mod supply;
