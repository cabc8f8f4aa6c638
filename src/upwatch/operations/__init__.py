"""Operations: whole changes that reach beyond one slice, each made through one unit of work.

A slice's service writes and audits its own rows and emits its events (incidents need no
more). Creating or changing a monitor or a heartbeat also sets its alerting channels
(`notify`) and must reach the running engine (`engine`), which sit above the slices; so
those changes are composed here, one layer above the engine and below every edge. The API
routes, the CLI and the dashboard call these functions, and so behave the same.
"""
