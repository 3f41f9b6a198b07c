// Stock Uppy for tests/browser's own page (served from another origin than the API):
// the same pinned @uppy/core and @uppy/aws-s3 as the upload page, nothing of ours.
import AwsS3 from '@uppy/aws-s3'
import Uppy from '@uppy/core'

window.Uppy = Uppy
window.AwsS3 = AwsS3
