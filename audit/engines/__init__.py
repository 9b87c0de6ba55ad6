"""Engines that compute an audit's count table without loading the rows into pandas."""
