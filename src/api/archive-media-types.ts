/**
 * Media types of the archive on a Transfer import or export stream (ImageImportStream /
 * ImageExportStream `media_type`): containerd writes OCI image layout tars and leaves the field
 * empty; berth also writes a classic `docker save` tar when asked with its own type.
 */
export const OCI_ARCHIVE_MEDIA_TYPE = 'application/vnd.oci.image.layout.v1+tar';
export const DOCKER_ARCHIVE_MEDIA_TYPE = 'application/vnd.berth.docker-save.v1+tar';
