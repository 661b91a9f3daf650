"""Energy, area and power: technology tables, node scaling, SRAM/DRAM/link models and the
pricing of action counts (see archsim/energy/model.py for the public API)."""
