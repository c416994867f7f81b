"""chargegroups: who may charge where, at what price, and who pays."""
