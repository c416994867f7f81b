"""Statements (PRODUCT.md B3): what each payer owes per billing period and currency."""
