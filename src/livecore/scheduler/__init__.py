"""The scheduler: places portfolios on live nodes, fails them over, migrates
them and keeps what nodes run equal to the registry. One active leader."""
