// Loaded in <head>, not deferred: mark that scripts run before the page is
// drawn (the CSP allows no inline script, so this cannot live in base.html).
document.documentElement.classList.replace("no-js", "js");
