"""Trading venues: the simulator that imitates real ones on the local machine."""
