"""Activation: campaigns as code, one eligibility gate, a send ledger, and the engine that sends."""
