"""Screens: the overview, one database's detail, help, and the action dialogs."""
