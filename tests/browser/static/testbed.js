// What tests/browser drives on its second origin: stock Uppy + stock AwsS3, given only
// `companionEndpoint` (and `shouldUseMultipart`, to send a 12 MiB file in parts).
// `upload()` resolves with what Uppy reported; `then` is 'pause' or 'cancel' to act
// on the first uploaded part (the test resumes a paused upload with `resume()`).

function randomFile (name, size, type) {
  const bytes = new Uint8Array(size)
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)))
  }
  return new File([bytes], name, { type })
}

async function sha256 (blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer())
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

window.upload = async function upload ({ endpoint, name, size, type, multipart, then, fromInput }) {
  const uppy = new window.Uppy({ autoProceed: false })
  const options = { companionEndpoint: endpoint }
  if (multipart) options.shouldUseMultipart = true
  uppy.use(window.AwsS3, options)
  window.testUppy = uppy
  const file = fromInput
    ? document.getElementById('file').files[0]
    : randomFile(name, size, type || 'application/octet-stream')
  const digest = fromInput ? null : await sha256(file)
  const id = uppy.addFile({ name: file.name, type: file.type, data: file, source: 'testbed' })
  const parts = []
  const settled = new Promise((resolve) => {
    uppy.on('upload-success', (f, response) => resolve({ outcome: 'success', key: response.body.key, location: response.uploadURL }))
    uppy.on('upload-error', (f, error) => resolve({ outcome: 'error', message: String(error && error.message) }))
    uppy.on('s3-multipart:part-uploaded', (f, part) => {
      parts.push(part.PartNumber)
      if (parts.length !== 1 || !then) return
      const state = uppy.getFile(id).s3Multipart
      if (then === 'pause') uppy.pauseResume(id)
      if (then === 'cancel') uppy.removeFile(id)
      resolve({ outcome: then, uploadId: state.uploadId, key: state.key })
    })
  })
  window.finished = new Promise((resolve) => {
    uppy.on('upload-success', (f, response) => resolve({ outcome: 'success', key: response.body.key }))
    uppy.on('upload-error', (f, error) => resolve({ outcome: 'error', message: String(error && error.message) }))
  })
  const started = performance.now()
  uppy.upload()
  const result = await settled
  const seconds = (performance.now() - started) / 1000
  return { ...result, sha256: digest, parts, seconds, paused: Boolean(uppy.getFile(id)?.isPaused) }
}

window.resume = async function resume () {
  const uppy = window.testUppy
  const [file] = uppy.getFiles()
  uppy.pauseResume(file.id)
  return window.finished
}
