"""Cloud-factory allocation of an order's processes across factories (MathOpt + HiGHS)."""
