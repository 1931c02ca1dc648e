// Starts Swagger UI (loaded just before from /docs/swagger-ui/) on this server's OpenAPI document.
// "Try it out" sends real requests; "Authorize" takes the Bearer key when API_KEYS is set, and
// keeps it across reloads of the page.
const root = document.getElementById('swagger-ui');
window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  deepLinking: true,
  persistAuthorization: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
});
