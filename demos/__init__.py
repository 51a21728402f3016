"""One module per tab: components, layout, examples and event wiring. UI only."""
