"""Per-mu grading (亩均论英雄): a county's method as configuration, scored on its finance figures
and on the energy the site meters measured. See grading/README.md."""
