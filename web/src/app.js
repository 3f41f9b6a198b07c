// The upload page: Uppy's Dashboard on top of stock @uppy/aws-s3, given only a
// `companionEndpoint` (stowage's upload-token URL), and the user's files below.
//
// Credentials: an API key typed in (kept in sessionStorage, sent only to this API, used
// to mint upload tokens and to list, download and delete), or `#key=` / `#token=` in the
// address (the fragment never reaches a server). With only a token the page uploads but
// cannot list: a token can do nothing else.
import AwsS3 from '@uppy/aws-s3'
import Uppy from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import '@uppy/core/css/style.min.css'
import '@uppy/dashboard/css/style.min.css'
import './app.css'

const KEY = 'stowage.key'
const TOKEN = 'stowage.token'
// The page's tokens live 4 hours (long uploads sign parts all along); a fresh one is
// minted for new files when the current one has less than an hour left.
const TOKEN_TTL_S = 4 * 3600
const TOKEN_MARGIN_MS = 3600 * 1000
const PAGE_SIZE = 50

const $ = (id) => document.getElementById(id)
const api = new URL('/', window.location.href)

// ------------------------------------------------------------------ credentials

/** `#key=…` or `#token=…` moves into sessionStorage and out of the address bar. */
function takeFragment () {
  const params = new URLSearchParams(window.location.hash.slice(1))
  const key = params.get('key')
  const token = params.get('token')
  if (key) {
    sessionStorage.setItem(KEY, key)
    sessionStorage.removeItem(TOKEN)
  } else if (token) {
    sessionStorage.setItem(TOKEN, token)
    sessionStorage.removeItem(KEY)
  }
  if (key || token) {
    window.history.replaceState(null, '', window.location.pathname + window.location.search)
  }
}

class HttpError extends Error {
  constructor (status, message) {
    super(message)
    this.status = status
  }
}

async function call (method, path, { key, body } = {}) {
  const headers = { Authorization: `Bearer ${key}` }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const response = await fetch(new URL(path, api), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store'
  })
  const text = await response.text()
  const data = text ? JSON.parse(text) : {}
  if (!response.ok) {
    const message = data?.error?.message ?? data?.message ?? response.statusText
    throw new HttpError(response.status, message)
  }
  return data
}

/** An upload token for the key, minted again when it is close to its expiry. */
class Tokens {
  constructor (key) {
    this.key = key
    this.current = null
  }

  async endpoint () {
    const left = this.current ? Date.parse(this.current.expires_at) - Date.now() : 0
    if (left < TOKEN_MARGIN_MS) {
      const body = { ttl_seconds: TOKEN_TTL_S }
      this.current = await call('POST', '/v1/upload-tokens', { key: this.key, body })
    }
    return this.current.endpoint
  }
}

function tokenEndpoint (token) {
  return new URL(`/v1/companion/${encodeURIComponent(token)}`, api).href.replace(/\/$/, '')
}

// ---------------------------------------------------------------------- uploads

function createUppy () {
  return new Uppy({ id: 'stowage', autoProceed: false, allowMultipleUploadBatches: true })
    .use(Dashboard, {
      inline: true,
      target: '#dashboard',
      width: '100%',
      height: 380,
      theme: 'auto',
      hideUploadButton: true, // every file starts at once (see startUploads)
      proudlyDisplayPoweredByUppy: false,
      showProgressDetails: true,
      note: 'Any file type; uploads resume after a pause or a dropped connection.'
    })
}

/** Stock AwsS3 with nothing but companionEndpoint; installed again for a new token,
 * unless uploads are under way (removing the plugin would abort them). */
function useEndpoint (uppy, endpoint) {
  const plugin = uppy.getPlugin('AwsS3')
  if (plugin?.opts.companionEndpoint === endpoint) return
  if (plugin && Object.keys(uppy.getState().currentUploads).length > 0) return
  if (plugin) uppy.removePlugin(plugin)
  uppy.use(AwsS3, { companionEndpoint: endpoint })
}

function startUploads (uppy, getEndpoint) {
  uppy.on('files-added', async () => {
    try {
      useEndpoint(uppy, await getEndpoint())
      showUploadError('')
      await uppy.upload()
    } catch (error) {
      showUploadError(`Could not start the upload: ${explain(error)}`)
    }
  })
  uppy.on('upload-error', (file, error) => {
    showUploadError(`${file?.name ?? 'A file'} failed: ${explain(error)}`)
  })
}

function explain (error) {
  const message = String(error?.message ?? error)
  if (error instanceof HttpError && (error.status === 401 || error.status === 403)) {
    return 'the API key was refused.'
  }
  if (/Unauthorized|Forbidden/.test(message)) {
    return 'this upload link is not valid, has expired or is used up.'
  }
  return message
}

function showUploadError (text) {
  $('upload-error').textContent = text
  $('upload-error').hidden = !text
}

// ------------------------------------------------------------------------ files

// Powers of 1024 with Uppy's labels, so the list and the Dashboard agree.
const units = ['B', 'KB', 'MB', 'GB', 'TB']
function formatSize (bytes) {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const keyPath = (key) => key.split('/').map(encodeURIComponent).join('/')
const baseName = (key) => key.slice(key.lastIndexOf('/') + 1)

class FileList {
  constructor (key) {
    this.key = key
    this.cursor = null
    $('refresh').addEventListener('click', () => this.load())
    $('more').addEventListener('click', () => this.load(this.cursor))
  }

  async load (cursor = null) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) })
    if (cursor) query.set('cursor', cursor)
    try {
      const page = await call('GET', `/v1/files?${query}`, { key: this.key })
      if (!cursor) $('file-rows').replaceChildren()
      for (const file of page.files) $('file-rows').append(this.row(file))
      this.cursor = page.next_cursor
      $('more').hidden = !this.cursor
      const count = $('file-rows').children.length
      $('file-table').hidden = count === 0
      $('files-status').textContent = count === 0 ? 'No files yet.' : ''
      return page.files.map((file) => file.key)
    } catch (error) {
      $('files-status').textContent = `Could not list the files: ${explain(error)}`
      return []
    }
  }

  /** After an upload: list again until a file the list did not show before is there.
   * A single-request upload becomes a file when S3 has told stowage, a moment after the
   * browser is done, and under its final key (not the one Uppy was told). */
  async awaitNewFile () {
    const before = new Set(this.shown())
    // About 30 s in all: S3's event usually takes a second or two.
    for (const delay of [200, 400, 800, 1600, 3200, 4000, 4000, 4000, 4000, 4000, 4000]) {
      const keys = await this.load()
      if (keys.some((key) => !before.has(key))) return
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
    $('files-status').textContent = 'Uploaded; it is not listed yet: try Refresh in a moment.'
  }

  shown () {
    return [...$('file-rows').children].map((row) => row.dataset.key)
  }

  row (file) {
    const tr = document.createElement('tr')
    tr.dataset.key = file.key
    const name = document.createElement('td')
    name.className = 'name'
    const title = document.createElement('span')
    title.textContent = baseName(file.key)
    const path = document.createElement('small')
    path.textContent = file.key
    name.append(title, path)
    const size = document.createElement('td')
    size.className = 'num'
    size.textContent = formatSize(file.size)
    const date = document.createElement('td')
    date.textContent = when.format(new Date(file.last_modified))
    const actions = document.createElement('td')
    actions.className = 'actions'
    actions.append(
      button('Download', 'download', () => this.download(file.key)),
      button('Delete', 'delete', () => this.confirmDelete(tr, actions, file.key))
    )
    tr.append(name, size, date, actions)
    return tr
  }

  async download (key) {
    try {
      const link = await call('GET', `/v1/files/${keyPath(key)}?redirect=false`, { key: this.key })
      const anchor = document.createElement('a')
      anchor.href = link.url
      anchor.download = baseName(key)
      anchor.rel = 'noopener'
      document.body.append(anchor)
      anchor.click()
      anchor.remove()
    } catch (error) {
      $('files-status').textContent = `Could not download ${baseName(key)}: ${explain(error)}`
    }
  }

  confirmDelete (tr, actions, key) {
    const keep = [...actions.children]
    const ask = document.createElement('span')
    ask.className = 'ask'
    ask.textContent = 'Delete?'
    const restore = () => actions.replaceChildren(...keep)
    actions.replaceChildren(
      ask,
      button('Yes, delete', 'confirm-delete', () => this.remove(tr, key)),
      button('Keep', 'keep', restore)
    )
  }

  async remove (tr, key) {
    try {
      await call('DELETE', `/v1/files/${keyPath(key)}`, { key: this.key })
      tr.remove()
      $('files-status').textContent = `Deleted ${baseName(key)}.`
      $('file-table').hidden = $('file-rows').children.length === 0
    } catch (error) {
      $('files-status').textContent = `Could not delete ${baseName(key)}: ${explain(error)}`
    }
  }
}

function button (label, action, onClick) {
  const element = document.createElement('button')
  element.type = 'button'
  element.textContent = label
  element.dataset.action = action
  element.className = action === 'confirm-delete' ? 'danger' : 'ghost'
  element.addEventListener('click', onClick)
  return element
}

// ------------------------------------------------------------------------ modes

function signIn () {
  $('sign-in').hidden = false
  $('api-key').focus()
  $('key-form').addEventListener('submit', async (event) => {
    event.preventDefault()
    const key = $('api-key').value.trim()
    $('key-error').hidden = true
    try {
      await call('POST', '/v1/upload-tokens', { key, body: { ttl_seconds: 60 } })
    } catch (error) {
      $('key-error').textContent =
        error instanceof HttpError && error.status < 500
          ? 'That key was not accepted.'
          : `Could not check the key: ${explain(error)}`
      $('key-error').hidden = false
      return
    }
    sessionStorage.setItem(KEY, key)
    window.location.reload()
  })
}

function withKey (key) {
  const tokens = new Tokens(key)
  const files = new FileList(key)
  const uppy = createUppy()
  startUploads(uppy, () => tokens.endpoint())
  uppy.on('upload-success', () => files.awaitNewFile())
  $('who').textContent = `Key ${key.slice(0, 8)}…`
  $('who').hidden = false
  $('sign-out').hidden = false
  $('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(KEY)
    window.location.reload()
  })
  $('uploader').hidden = false
  $('files').hidden = false
  files.load()
  return uppy
}

function withToken (token) {
  const uppy = createUppy()
  startUploads(uppy, async () => tokenEndpoint(token))
  uppy.on('upload-success', (file) => {
    const item = document.createElement('li')
    item.textContent = `${file.name} · ${formatSize(file.size)}`
    $('session-list').append(item)
    $('session').hidden = false
  })
  $('who').textContent = 'Upload link'
  $('who').hidden = false
  $('uploader').hidden = false
  return uppy
}

function main () {
  takeFragment()
  const key = sessionStorage.getItem(KEY)
  const token = sessionStorage.getItem(TOKEN)
  if (key) window.stowageUppy = withKey(key)
  else if (token) window.stowageUppy = withToken(token)
  else signIn()
}

main()
