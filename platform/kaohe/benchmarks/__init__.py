"""Measurements (`kaohe bench ...`) and the synthetic provinces they run on.
Nothing here runs in production; the domain packages never import it."""
