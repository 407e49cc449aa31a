// The old frontend read its server URL from a global API_CONFIG and crashed with a
// ReferenceError when the script defining it had not loaded first. The demo defines it
// here, before anything uses it, and the gateway is the one origin: same host and port.
window.API_CONFIG = Object.freeze({
  getServerUrl() {
    return window.location.origin;
  },
});
