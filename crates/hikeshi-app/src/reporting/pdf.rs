//! The monthly report as PDF, typeset in-process by Typst: the layout is a fixed template
//! shipped in the binary and the report's data goes in as a JSON file, so nothing a user
//! typed is ever read as markup. Fonts are loaded from the configured files once (a Japanese
//! one is needed for Japanese text); the PDF has no creation time and a stable document ID,
//! so the same data gives the same bytes.

use super::monthly::ReportData;
use std::path::PathBuf;
use std::sync::OnceLock;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

const TEMPLATE: &str = include_str!("monthly_report.typ");

/// Fonts found at start-up, and the families they bring, in the order they were listed.
pub struct Fonts {
    fonts: Vec<Font>,
    book: LazyHash<FontBook>,
    pub families: Vec<String>,
    pub loaded_from: Vec<PathBuf>,
}

static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();

/// Loads every face of each listed file that exists; an error names what was tried.
fn load_fonts(paths: &[PathBuf]) -> Result<Fonts, String> {
    let mut fonts = Vec::new();
    let mut families: Vec<String> = Vec::new();
    let mut loaded_from = Vec::new();
    for path in paths {
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        let before = fonts.len();
        for font in Font::iter(Bytes::new(data)) {
            let family = font.info().family.clone();
            if !families.contains(&family) {
                families.push(family);
            }
            fonts.push(font);
        }
        if fonts.len() > before {
            loaded_from.push(path.clone());
        }
    }
    if fonts.is_empty() {
        return Err(format!(
            "no font for the PDF report: none of {} could be read; install Debian's fonts-ipaexfont-gothic or fonts-noto-cjk, or set [reporting] fonts",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ));
    }
    let book = LazyHash::new(FontBook::from_fonts(&fonts));
    Ok(Fonts {
        fonts,
        book,
        families,
        loaded_from,
    })
}

pub fn fonts(paths: &[PathBuf]) -> Result<&'static Fonts, String> {
    FONTS
        .get_or_init(|| load_fonts(paths))
        .as_ref()
        .map_err(Clone::clone)
}

struct ReportWorld {
    library: LazyHash<Library>,
    fonts: &'static Fonts,
    main: FileId,
    data_id: FileId,
    source: Source,
    data: Bytes,
}

fn file_id(name: &str) -> FileId {
    // Both names are constants, so the path is always valid.
    let vpath = VirtualPath::new(name).unwrap_or_else(|_| unreachable!("constant path {name}"));
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }
    fn main(&self) -> FileId {
        self.main
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main {
            Ok(self.source.clone())
        } else {
            Err(FileError::NotSource)
        }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            Ok(self.data.clone())
        } else if id == self.main {
            Ok(Bytes::from_string(self.source.clone()))
        } else {
            Err(FileError::AccessDenied)
        }
    }
    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.fonts.get(index).cloned()
    }
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // The template does not ask; a fixed answer keeps output reproducible anyway.
        None
    }
}

/// Typesets the report; the error is a sentence for the log and the API answer.
pub fn render(report: &ReportData, font_paths: &[PathBuf]) -> Result<Vec<u8>, String> {
    let fonts = fonts(font_paths)?;
    let mut data = report.clone();
    data.fonts = fonts.families.clone();
    let json = serde_json::to_vec(&data).map_err(|e| format!("report data: {e}"))?;
    let main = file_id("/main.typ");
    let world = ReportWorld {
        library: LazyHash::new(Library::default()),
        fonts,
        main,
        data_id: file_id("/data.json"),
        source: Source::new(main, TEMPLATE.to_string()),
        data: Bytes::new(json),
    };
    let document: PagedDocument = typst::compile(&world).output.map_err(|errors| {
        let text: Vec<String> = errors.iter().map(|e| e.message.to_string()).collect();
        format!("typesetting the report failed: {}", text.join("; "))
    })?;
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(format!("hikeshi-monthly-{}-{}", report.month, report.lang)),
        creator: Smart::Custom(Some("hikeshi".into())),
        timestamp: None,
        ..Default::default()
    };
    typst_pdf::pdf(&document, &options).map_err(|errors| {
        let text: Vec<String> = errors.iter().map(|e| e.message.to_string()).collect();
        format!("writing the PDF failed: {}", text.join("; "))
    })
}
