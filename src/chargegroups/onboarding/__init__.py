"""Onboarding: every way a driver joins an account (PRODUCT.md §3), and the email it sends."""
