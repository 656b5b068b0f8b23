/*
 * Spectra version, shared by the nginx module and spectra-dataapi.
 */

#ifndef SPECTRA_VERSION_H
#define SPECTRA_VERSION_H

#define SPECTRA_VERSION          "0.1.0"
#define SPECTRA_VERSION_NUMBER   1000

#endif /* SPECTRA_VERSION_H */
