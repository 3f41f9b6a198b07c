// The API reference: Swagger UI rendering the stack's own /v1/openapi.json. Everything
// is bundled and served by the stack; the online validator badge is off (no calls out).
import SwaggerUIBundle from 'swagger-ui-dist/swagger-ui-bundle.js'
import 'swagger-ui-dist/swagger-ui.css'
import './docs.css'

const ui = SwaggerUIBundle({
  url: new URL('/v1/openapi.json', window.location.href).href,
  dom_id: '#swagger',
  deepLinking: true,
  validatorUrl: null,
  docExpansion: 'list',
  defaultModelsExpandDepth: 0,
  persistAuthorization: false,
  onComplete: () => {
    // The key the upload page keeps for this tab, so "Try it out" works at once.
    const key = window.sessionStorage.getItem('stowage.key')
    if (key) ui.preauthorizeApiKey('ApiKey', key)
    document.body.dataset.ready = 'true'
  }
})
window.stowageDocs = ui
